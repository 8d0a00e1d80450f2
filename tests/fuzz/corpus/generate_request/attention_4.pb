The quick brown foxr
questh
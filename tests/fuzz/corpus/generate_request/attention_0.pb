The quick brown foxr
sliding_window
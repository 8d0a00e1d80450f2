The quick brown foxr
sinks
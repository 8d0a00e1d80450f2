The quick brown foxr
bigbird@HPX`	
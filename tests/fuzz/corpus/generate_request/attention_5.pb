The quick brown foxr
	performerpx
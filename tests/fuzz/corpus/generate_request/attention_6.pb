The quick brown foxr
transformer_xl (
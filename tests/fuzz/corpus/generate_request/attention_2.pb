The quick brown foxr

longformer0:
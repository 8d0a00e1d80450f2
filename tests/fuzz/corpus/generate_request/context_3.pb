Hello there z
sinksX`<
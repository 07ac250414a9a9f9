print("benchmark: see docs/PERFORMANCE.md")

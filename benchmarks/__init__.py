"""Speed and memory benchmarks, each measured side by side with a baseline in one run."""

"""Inline completions for the JupyterLab extension, answered inside the kernel (so they know
its variables) on a thread of their own (so they come while a cell runs)."""

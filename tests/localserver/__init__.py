"""A real llama.cpp server (llama-cpp-python's) on 127.0.0.1 with a tiny model made on the spot."""

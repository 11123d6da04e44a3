"""Publishing Hugging Face Spaces through the Hub's Python API (`gator space`)."""

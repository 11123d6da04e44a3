"""gator mirror: a Hugging-Face-compatible local hub and pull-through cache."""

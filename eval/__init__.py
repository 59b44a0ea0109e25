"""newsrag evaluation harness: question sets in, retrieval/answer/citation metrics out."""

"""newsrag user interfaces: the Gradio chat and the `newsrag` command line."""

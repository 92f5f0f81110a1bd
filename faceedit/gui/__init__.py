"""The desktop editor: the engine (worker thread), the window and its widgets."""

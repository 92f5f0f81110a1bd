"""The desktop editor: the engine (worker thread), the document (state and undo), the window and its widgets."""

"""Qt widgets only: the window talks to the engine, never to SQL or HTTP."""

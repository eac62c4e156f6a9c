"""Wire protocols: the only package that talks HTTP."""

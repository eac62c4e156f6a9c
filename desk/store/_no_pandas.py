"""Loads sqlite-utils without pandas: it imports pandas whenever pandas is installed (for
one column type desk never writes), a second and more of every start. pandas is hidden
only while sqlite-utils loads; a caller that imported pandas already keeps it, and anyone
importing it later gets it as usual."""

import sys

if "sqlite_utils" not in sys.modules and "pandas" not in sys.modules:
    sys.modules["pandas"] = None  # type: ignore[assignment]  # `import pandas` raises ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        del sys.modules["pandas"]

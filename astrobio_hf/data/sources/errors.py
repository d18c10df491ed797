"""The error every source builder raises on bad input: it names the source, the file and where in it."""

from __future__ import annotations


class SourceFormatError(ValueError):
    """A native file that cannot be parsed.

    ``location`` says where: ``"row 12 (line 101), field pl_orbper"``, ``"HDU 1 (LIGHTCURVE)"``,
    ``"column pl_name"``, ``"line 3"`` ... (empty when the whole file is at fault).
    """

    def __init__(self, source: str, file: str, location: str, message: str) -> None:
        self.source = source
        self.file = str(file)
        self.location = location
        self.message = message
        where = f"{self.file}, {location}" if location else self.file
        super().__init__(f"{source}: {where}: {message}")

    def __reduce__(self):  # keep the four fields through pickling (multiprocessing, datasets' workers)
        return (type(self), (self.source, self.file, self.location, self.message))

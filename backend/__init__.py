"""StrideLab: running-form analysis from phone video and the strength plans that follow."""

__version__ = "0.1.0"

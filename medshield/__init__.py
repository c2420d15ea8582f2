"""medshield: the register and security record of a hospital's networked medical devices."""

__version__ = "0.1.0"

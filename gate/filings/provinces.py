"""The one-character province abbreviations a filing number starts with (京ICP备…).

A module of its own so the package scanner (``gate.extract.filing_number``) reads them without importing the filing
number grammar and its problems: ``gate features`` never parses a filing (start-up, issue #28).
"""

from __future__ import annotations

PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川蜀贵黔云滇藏陕甘青宁新"

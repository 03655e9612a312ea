"""The experiments behind the book's tables: the toy league, each paper's setting, the digit league."""

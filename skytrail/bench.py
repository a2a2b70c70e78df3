"""`skytrail demo` (being written)."""


def register(parser, name):
    parser.set_defaults(func=lambda args: 0)

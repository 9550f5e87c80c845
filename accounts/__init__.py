"""Credentials of API clients and sockets, kept out of the domain (`chat` never imports this).

Both edges use it: apps.api to issue and check tokens, apps.ws to resolve a socket's token.
"""

"""Assembling and running one process: the app factory, lifecycle, leader loop, server."""

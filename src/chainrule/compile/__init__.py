"""Tracing compiler. (See the static-graphs issue.)"""

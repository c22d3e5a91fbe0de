"""Optimizers. (See the learning-stack issue.)"""

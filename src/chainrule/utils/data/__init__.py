"""Datasets and data loaders. (See the learning-stack issue.)"""

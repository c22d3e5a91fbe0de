"""Graph drawing and the backward explainer. (See the visualisation issue.)"""

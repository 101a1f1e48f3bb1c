"""Code exercises: learners write the write-up's analyses; the runner checks them on the live model.

(Placeholder from the runner branch; the exercises branch owns this module's registry.)
"""

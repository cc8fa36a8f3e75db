from .aihub_stack import STAGES, AihubStack

__all__ = ["STAGES", "AihubStack"]

"""The hostile-input suite: one module per finding of issue 13, each trying the attack again."""

"""What the bot does when nobody writes to it: periodic sweeps over domain rows."""

"""The Qt layer: the window, its views and dialogs, the tray; tasks.py is where threads meet Qt."""

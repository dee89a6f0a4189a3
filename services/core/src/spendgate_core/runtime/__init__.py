"""Running a service: wiring, settings, runtime tuning and the periodic-task base."""

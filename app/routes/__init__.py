"""One blueprint per portal section; each module's blueprint is named ``blueprint``."""

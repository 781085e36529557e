"""The WHP core: translate, align, reinforce, generic labels and their review."""

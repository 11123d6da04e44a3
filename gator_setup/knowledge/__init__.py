"""Knowledge base: data files of verified facts (rules, deprecations) with their provenance."""

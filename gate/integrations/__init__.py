"""The gate inside other programs' workflows: plugins for distribution platforms (F-Droid: ``gate.integrations.fdroid``)."""

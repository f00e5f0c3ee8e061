"""Local fakes of the outside services the portal talks to, speaking their wire formats."""

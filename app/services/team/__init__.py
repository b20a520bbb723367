"""A team on one PostgreSQL database (docs/team.md): where the database is, moving to it, roles,
one syncer at a time, and the live updates between desktops."""

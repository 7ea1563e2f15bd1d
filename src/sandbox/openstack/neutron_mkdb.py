"""Create the Neutron schema directly from the SQLAlchemy models.

neutron-db-manage (alembic) cannot run on SQLite ("No support for ALTER of
constraints in SQLite dialect") and is slow elsewhere, so build the head
schema with metadata.create_all() (Neutron's model/migration sync tests keep
the two equal). Works for SQLite and PostgreSQL URLs.
Usage: /usr/bin/python3 neutron_mkdb.py <sqlalchemy-url> (run by services.ts on first start)
"""
import sys

import sqlalchemy as sa

from neutron.db.migration.models import head

url = sys.argv[1]
engine = sa.create_engine(url)
metadata = head.get_metadata()
metadata.create_all(engine)
print("neutron schema created:", len(metadata.tables), "tables")

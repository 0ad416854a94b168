"""Hot-path statements run on the driver's own cursor.

SQLAlchemy's per-call execution machinery costs about 100 µs a statement on
this class of machine, the driver itself about 15 µs. The few statements on
the order-creation path (about four per order) are compiled once per dialect
and executed on the DBAPI cursor of the same connection, so they stay inside
the caller's transaction. Values still pass through each column type's own
bind processor: they are stored exactly as the Core path stores them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # positional order for qmark/format styles, else None
    processors: dict[str, Callable[[Any], Any]]
    defaults: dict[str, Any]  # values bound in the statement itself


class Prepared:
    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: Dialect, keys: frozenset[str]) -> _Compiled:
        found = self._compiled.get((dialect.name, keys))
        if found is not None:
            return found
        with self._lock:
            compiled = self.statement.compile(  # type: ignore[attr-defined]
                dialect=dialect, column_keys=sorted(keys)
            )
            processors = {}
            defaults = {}
            for name, bind in compiled.binds.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
                if name not in keys:
                    defaults[name] = bind.effective_value
            positional = compiled.positiontup
            found = _Compiled(
                compiled.string, tuple(positional) if positional else None, processors, defaults
            )
            self._compiled[(dialect.name, keys)] = found
            return found

    @staticmethod
    def _arguments(compiled: _Compiled, params: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        defaults, processors = compiled.defaults, compiled.processors
        arguments: list[Any] | dict[str, Any]
        if compiled.names is not None:
            arguments = []
            for name in compiled.names:
                value = params[name] if name in params else defaults[name]
                processor = processors.get(name)
                arguments.append(value if processor is None else processor(value))
        else:
            arguments = {**defaults, **params}
            for name, processor in processors.items():
                arguments[name] = processor(arguments[name])
        return arguments

    def _run(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        compiled = self._for(conn.dialect, frozenset(params))
        arguments = self._arguments(compiled, params)
        return self._call(conn, compiled.sql, arguments, many=False)

    @staticmethod
    def _call(conn: Connection, sql: str, arguments: Any, *, many: bool) -> Any:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:
            if many:
                cursor.executemany(sql, arguments)
            else:
                cursor.execute(sql, arguments)
        except dbapi_error as exc:
            cursor.close()
            # The same exception classes as the Core path (IntegrityError, ...).
            raise DBAPIError.instance(
                sql, arguments, exc, dbapi_error, dialect=conn.dialect
            ) from exc
        return cursor

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement for many rows (all with the same keys), in their order."""
        if not rows:
            return
        keys = frozenset(rows[0])
        if any(frozenset(row) != keys for row in rows):
            for row in rows:
                self.execute(conn, row)
            return
        compiled = self._for(conn.dialect, keys)
        arguments = [self._arguments(compiled, row) for row in rows]
        self._call(conn, compiled.sql, arguments, many=True).close()

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> None:
        self._run(conn, params).close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        cursor = self._run(conn, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else tuple(row)

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        row = self.first(conn, params)
        if row is None:
            raise LookupError("the statement returned no row")
        return row[0]

"""Querysets compiled once per process and run again with new values.

On the hot paths (an offer action, the stall document's write after it) Django's
building and compiling of a queryset cost more CPU than PostgreSQL's answer: about
0.8 ms to compile the offer's locked read (eight tables joined), 0.25 ms to run it
(docs/decisions.md, issue 15, session offers4). A `Prepared` keeps the SQL the ORM
wrote, with the values that change from call to call as parameters, and Django's own
recipe for turning its rows into model instances (`select_related` included), and
reuses both. The SQL is the ORM's, so it is the same on PostgreSQL and SQLite, and it
goes through the connection's cursor, so query counting and logging see it.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from threading import Lock
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Model, QuerySet, signals
from django.db.models.constants import OnConflict
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql import InsertQuery, UpdateQuery
from django.db.transaction import TransactionManagementError

# Stand-ins for the values a caller passes, told apart from the query's own constants
# in the compiled parameters. Integers stay within a 32-bit column's range: Django
# compiles an out-of-range integer lookup to an empty result, not to a parameter.
_STRING_STAND_IN = "\x1fprepared-{}\x1f"
_INTEGER_STAND_IN = 2_000_000_000
# Each list's stand-ins lie below the single integers', `_LIST_ROOM` apart per value.
_LIST_ROOM = 10_000_000
# A list longer than this (a big stall's items) is compiled for its call alone: a
# length each is a compiled query each, and what is kept must stay bounded.
LONGEST_LIST_KEPT = 64


def _stand_in(index: int, value: Any) -> Any:
    if isinstance(value, list):
        return [_INTEGER_STAND_IN - _LIST_ROOM * (index + 1) + place for place in range(len(value))]
    if isinstance(value, str):
        return _STRING_STAND_IN.format(index)
    if isinstance(value, int) and not isinstance(value, bool):
        return _INTEGER_STAND_IN + index
    if isinstance(value, datetime):
        return datetime(1901, 2, 3, 4, 5, 6, index + 1, tzinfo=UTC)
    raise TypeError(
        f"a prepared query takes str, int and datetime values, not {type(value).__name__}"
    )


def _as_parameter(value: Any, connection) -> Any:
    """A value as the ORM passes it to the database (a date-time compared with a
    date-time column: SQLite takes it as text in the connection's time zone)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


@dataclass(frozen=True)
class _Statement:
    alias: str
    sql: str
    # Each parameter: the index of the caller's value it takes (with the place in it,
    # for a list), or None for a constant.
    sources: tuple[int | tuple[int, int] | None, ...]
    constants: tuple[Any, ...]


@dataclass(frozen=True)
class _Compiled(_Statement):
    converters: list
    for_update: bool
    # For model rows: the model, its columns' slice and attribute names, the populators
    # of its `select_related` rows, its annotations' names and columns.
    model: type[Model] | None
    start: int
    end: int
    init_list: list[str]
    populators: list
    annotations: list[tuple[str, int]]


def _sources(params, stand_ins: list, connection) -> tuple[tuple, tuple]:
    """Which of the caller's values each compiled parameter is (None: a constant), and
    the constants (None where a value goes)."""
    positions: dict[Any, int | tuple[int, int]] = {}
    for index, stand_in in enumerate(stand_ins):
        if isinstance(stand_in, list):
            positions.update({one: (index, place) for place, one in enumerate(stand_in)})
        else:
            positions[_as_parameter(stand_in, connection)] = index
    sources = tuple(positions.get(param) for param in params)
    if set(sources) - {None} != set(positions.values()):
        raise ValueError("every value of a prepared query must reach its SQL unchanged")
    constants = tuple(
        None if source is not None else param for source, param in zip(sources, params, strict=True)
    )
    return sources, constants


def _parameters(compiled: _Statement, values: tuple, connection) -> list:
    """A compiled query's parameters for the caller's `values`."""
    return [
        constant if source is None else _value(values, source, connection)
        for source, constant in zip(compiled.sources, compiled.constants, strict=True)
    ]


def _compile(queryset: QuerySet, stand_ins: list) -> _Compiled:
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    sources, constants = _sources(params, stand_ins, compiler.connection)
    select = compiler.select
    converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])
    model, start, end, init_list, populators, annotations = None, 0, 0, [], [], []
    if issubclass(queryset._iterable_class, ModelIterable):
        klass_info = compiler.klass_info
        model = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, queryset.db)
        annotations = list(compiler.annotation_col_map.items())
    return _Compiled(
        alias=queryset.db,
        sql=sql,
        sources=sources,
        constants=constants,
        converters=list(converters.items()),
        for_update=queryset.query.select_for_update,
        model=model,
        start=start,
        end=end,
        init_list=init_list,
        populators=populators,
        annotations=annotations,
    )


def _converted(row, converters: list, connection) -> list:
    """A row as Django's compiler converts it (`apply_converters`), with this
    thread's connection."""
    row = list(row)
    for position, (functions, expression) in converters:
        value = row[position]
        for function in functions:
            value = function(value, expression, connection)
        row[position] = value
    return row


def _kind(value: Any) -> Any:
    """What of a value decides the SQL: its type, and a list's length."""
    if not isinstance(value, list):
        return type(value)
    if not value or not all(type(one) is int for one in value):
        raise TypeError("a prepared query's list is of whole numbers, and not empty")
    return (list, len(value))


def _value(values: tuple, source: int | tuple[int, int], connection) -> Any:
    if isinstance(source, tuple):
        index, place = source
        return values[index][place]
    return _as_parameter(values[source], connection)


class _KeptPerShape:
    """What `build` makes, compiled at the first call of each shape and kept (the
    statement's shape: `shape`, and each value's kind, a list's length included), but
    never for a call whose lists or values outnumber LONGEST_LIST_KEPT, so that what is
    kept stays bounded."""

    def __init__(self, build: Callable[..., Any]) -> None:
        self._build = build
        self._compiled: dict[tuple, Any] = {}
        self._lock = Lock()

    def _compiled_for(
        self, values: tuple, shape: tuple, compile_: Callable[[Any, list], Any]
    ) -> Any:
        kinds = tuple(_kind(value) for value in values)
        key = (shape, kinds)
        compiled = self._compiled.get(key)
        if compiled is not None:
            return compiled
        stand_ins = [_stand_in(index, value) for index, value in enumerate(values)]
        compiled = compile_(self._build(*shape, *stand_ins), stand_ins)
        longest = max([len(values), *(kind[1] for kind in kinds if isinstance(kind, tuple))])
        if longest > LONGEST_LIST_KEPT:
            return compiled
        with self._lock:
            return self._compiled.setdefault(key, compiled)


class Prepared(_KeptPerShape):
    """`build(*shape, *values)` returns a queryset (of models, or `values_list` rows)
    whose varying values are `values` (str, int, a date-time compared with a date-time
    column, or a non-empty list of ints for an `__in` lookup), each reaching the SQL as
    a parameter; `shape` (hashable: a field's name, the relations to join) changes the
    SQL itself. `rows(*values, shape=…)` runs it: compiled at the first call of each
    shape, then only executed. A list's length is part of the SQL (`IN (%s, %s)`), so
    each length is compiled once: for lists of a bounded length (a page's items)."""

    def rows(self, *values: Any, shape: tuple = ()) -> list:
        compiled = self._compiled_for(values, shape, _compile)
        connection = connections[compiled.alias]
        params = _parameters(compiled, values, connection)
        if compiled.for_update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        if compiled.converters:
            fetched = [_converted(row, compiled.converters, connection) for row in fetched]
        if compiled.model is None:
            return [tuple(row) for row in fetched]
        objects = []
        for row in fetched:
            obj = compiled.model.from_db(
                compiled.alias, compiled.init_list, row[compiled.start : compiled.end]
            )
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, position in compiled.annotations:
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects

    def first(self, *values: Any, shape: tuple = ()) -> Any:
        """The first row of `rows`, or None (a queryset's `first()`, for one sliced
        `[:1]`)."""
        found = self.rows(*values, shape=shape)
        return found[0] if found else None


class PreparedUpdate(_KeptPerShape):
    """A queryset's `update(**changes)` compiled once per shape: `build(*shape,
    *values)` returns the queryset and the changes, either of which may hold the
    values (as `Prepared` takes them). `run(*values, shape=…)` returns the rows
    changed; `send` does not read that count, so in a pipeline
    (`bazaar.database.atomic_pipelined`) it waits for no answer. For updates of one
    table only (Django turns one that joins into a sub-select or a read first), and of
    rows nobody listens to the saving of (an `update` sends no signals either)."""

    def run(self, *values: Any, shape: tuple = ()) -> int:
        with self._executed(values, shape) as cursor:
            return cursor.rowcount

    def send(self, *values: Any, shape: tuple = ()) -> None:
        with self._executed(values, shape):
            pass

    @contextmanager
    def _executed(self, values: tuple, shape: tuple) -> Iterator:
        compiled = self._compiled_for(values, shape, _compile_update)
        connection = connections[compiled.alias]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, _parameters(compiled, values, connection))
            yield cursor


def _compile_update(built: tuple[QuerySet, dict[str, Any]], stand_ins: list) -> _Statement:
    queryset, changes = built
    if len(queryset.query.alias_map) > 1:
        raise TypeError("a prepared update changes one table, filtered on it alone")
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(changes)
    alias = router.db_for_write(queryset.model)
    compiler = query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    sources, constants = _sources(params, stand_ins, compiler.connection)
    return _Statement(alias=alias, sql=sql, sources=sources, constants=constants)


def _compares_values(value: Any) -> bool:
    """False for a driver's wrapper that compares by identity (psycopg's `Binary`)."""
    return type(value).__eq__ is not object.__eq__


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    returning: tuple
    returning_params: tuple
    converters: list


class PreparedInsert:
    """`model.objects.create(**values)` with its INSERT compiled once per process and
    database (issue 15, session offers5: `SQLInsertCompiler` and `Model.save` cost an
    offer action more than PostgreSQL's part of its four to six inserts). The SQL is
    the one Django compiles for the first row, checked against Django's own
    parameters for it; the values go through each field's `pre_save` and
    `get_db_prep_save` as `save` sends them. The model's save signals are honoured:
    a model someone listens to is saved by `save`.

    With `ignore_conflicts`, the INSERT skips a row any unique constraint already
    holds (`ON CONFLICT DO NOTHING`), and `create` returns None for it: one statement
    where a savepoint, the INSERT and the rollback of its IntegrityError were three.

    With `read_back=False` (an audit row nobody reads back) the INSERT returns no
    column, and `create` waits for no answer: in a pipeline
    (`bazaar.database.atomic_pipelined`) it goes in the round trip of the next
    statement whose answer is read, or of the COMMIT, and an error it meets is raised
    there. The row comes back without its primary key.
    """

    def __init__(
        self, model: type[Model], *, ignore_conflicts: bool = False, read_back: bool = True
    ) -> None:
        meta = model._meta
        if meta.parents or any(field.has_db_default() for field in meta.local_concrete_fields):
            raise TypeError(f"{model.__name__}: inherited models and db_default are not prepared")
        self._model = model
        if ignore_conflicts and not read_back:
            raise TypeError("a conflict ignored is known only from the INSERT's answer")
        self._on_conflict = OnConflict.IGNORE if ignore_conflicts else None
        self._read_back = read_back
        self._fields = tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field)
        self._compiled: dict[str, _CompiledInsert] = {}
        self._lock = Lock()

    def create(self, **values: Any) -> Model | None:
        obj = self._model(**values)
        alias = router.db_for_write(self._model, instance=obj)
        if signals.pre_save.has_listeners(self._model) or signals.post_save.has_listeners(
            self._model
        ):
            return self._saved(obj, alias)
        connection = connections[alias]
        params = [
            field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
            for field in self._fields
        ]
        compiled = self._compiled.get(alias) or self._compile(obj, alias, params)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            if not self._read_back:
                return self._stored(obj, alias)
            row = connection.ops.fetch_returned_insert_columns(cursor, compiled.returning_params)
        if row is None:  # the conflict ignored: nothing inserted
            return None
        if compiled.converters:
            row = _converted(row, compiled.converters, connection)
        for field, value in zip(compiled.returning, row, strict=True):
            setattr(obj, field.attname, value)
        return self._stored(obj, alias)

    @staticmethod
    def _stored(obj: Model, alias: str) -> Model:
        obj._state.adding = False
        obj._state.db = alias
        return obj

    def _saved(self, obj: Model, alias: str) -> Model | None:
        """`save` for a model with listeners (conflicts ignored as the INSERT would)."""
        if self._on_conflict is None:
            obj.save(force_insert=True, using=alias)
            return obj
        try:
            with transaction.atomic(using=alias):
                obj.save(force_insert=True, using=alias)
        except IntegrityError:
            return None
        return obj

    def _compile(self, obj: Model, alias: str, params: list) -> _CompiledInsert:
        connection = connections[alias]
        if not connection.features.can_return_columns_from_insert:
            raise NotImplementedError(f"{connection.vendor} returns no columns from an INSERT")
        query = InsertQuery(self._model, on_conflict=self._on_conflict)
        query.insert_values(self._fields, [obj])
        compiler = query.get_compiler(using=alias)
        returning = self._model._meta.db_returning_fields if self._read_back else []
        compiler.returning_fields = returning or None
        ((sql, compiled_params),) = compiler.as_sql()
        if len(compiled_params) != len(params) or any(
            type(compiled) is not type(mine) or (compiled != mine and _compares_values(mine))
            for compiled, mine in zip(compiled_params, params, strict=False)
        ):
            raise ValueError(f"{self._model.__name__}: the INSERT's parameters are not its fields'")
        table = self._model._meta.db_table
        converters = compiler.get_converters([field.get_col(table) for field in returning])
        compiled = _CompiledInsert(
            sql=sql,
            returning=tuple(returning),
            returning_params=tuple(compiler.returning_params),
            converters=list(converters.items()),
        )
        with self._lock:
            return self._compiled.setdefault(alias, compiled)

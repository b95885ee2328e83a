"""The provisioning service's attribute-mapping expression language: parse into attributeMappingSource, evaluate.

Syntax (documented, "Reference for writing expressions for attribute mappings in Microsoft Entra ID"): an attribute
`[name]`, a string constant `"text"` (backslash escapes `\\"` and `\\\\`), a number, or a function
`Name(arg, , arg)` whose arguments are any of these; an empty argument is left out. Names are case-sensitive.
IIF conditions compare two operands with = <> > >= < <=.

The parsed form IS an attributeMappingSource ({expression, name, parameters [{key, value}], type}), as the
parseExpression example of the Graph docs shows it: a Function's parameters are keyed by the function's parameter
names and an empty argument has no entry. Stored schemas and the evaluator use the same form, so a mapping saved
through PUT .../schema is evaluated by provisionOnDemand the way parseExpression evaluates it.

Values are lists of strings (evaluationResult is a String collection); None stands for null (an absent attribute).
"""

import base64
import calendar
import datetime
import random
import re
import string
import unicodedata
import uuid


class ExpressionError(ValueError):
    """The expression cannot be parsed (or a stored source is not a valid attributeMappingSource)."""


class EvaluationError(ValueError):
    """The expression parsed but cannot be evaluated against the given input."""


# name -> (parameter keys in order, how many are required, repeating: None or (prefix, start position)).
# Keys follow the docs' parameter names; Replace follows the keys the parseExpression example answers with
# (source, Find, Replacement); the keys of its other parameters and of repeating parameters (source1, key1...)
# are inferred.
FUNCTIONS = {
    "Append": (("source", "suffix"), 2, None),
    "AppRoleAssignmentsComplex": (("appRoleAssignments",), 1, None),
    "BitAnd": (("value1", "value2"), 2, None),
    "CBool": (("Expression",), 1, None),
    "CDate": (("Expression",), 1, None),
    "Coalesce": ((), 1, ("source", 0)),
    "ConvertToBase64": (("source",), 1, None),
    "ConvertToUTF8Hex": (("source",), 1, None),
    "Count": (("attribute",), 1, None),
    "CStr": (("value",), 1, None),
    "DateAdd": (("interval", "value", "dateTime"), 3, None),
    "DateDiff": (("interval", "date1", "date2"), 3, None),
    "DateFromNum": (("value",), 1, None),
    "FormatDateTime": (("source", "dateTimeStyles", "inputFormat", "outputFormat"), 4, None),
    "Guid": ((), 0, None),
    "IgnoreFlowIfNullOrEmpty": (("Expression",), 1, None),
    "IIF": (("condition", "valueIfTrue", "valueIfFalse"), 3, None),
    "InStr": (("value1", "value2", "start", "compareType"), 2, None),
    "IsNull": (("Expression",), 1, None),
    "IsNullOrEmpty": (("Expression",), 1, None),
    "IsPresent": (("Expression",), 1, None),
    "IsString": (("Expression",), 1, None),
    "Item": (("attribute", "index"), 2, None),
    "Join": (("separator",), 2, ("source", 1)),
    "Left": (("String", "NumChars"), 2, None),
    "Mid": (("source", "start", "length"), 3, None),
    "NormalizeDiacritics": (("source",), 1, None),
    "Not": (("source",), 1, None),
    "Now": ((), 0, None),
    "NumFromDate": (("value",), 1, None),
    "PCase": (("source", "wordSeparators"), 1, None),
    "RandomString": (("Length", "MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital",
                      "MinimumLowerCase", "CharactersToAvoid"), 5, None),
    "Redact": (("source",), 1, None),
    "RemoveDuplicates": (("attribute",), 1, None),
    "Replace": (("source", "Find", "RegexPattern", "RegexGroupName", "Replacement", "ReplacementAttributeName",
                 "Template"), 1, None),
    "SelectUniqueValue": ((), 2, ("uniqueValueRule", 0)),
    "SingleAppRoleAssignment": (("appRoleAssignments",), 1, None),
    "Split": (("source", "delimiter"), 2, None),
    "StripSpaces": (("source",), 1, None),
    "Switch": (("source", "defaultValue"), 4, ("key", 2)),
    "ToLower": (("source", "culture"), 1, None),
    "ToUpper": (("source", "culture"), 1, None),
    "Trim": (("source",), 1, None),
    "Word": (("String", "WordNumber", "Delimiters"), 3, None),
}
# IIF's comparison operators, parsed into a Function named after the operator (inferred representation).
COMPARISONS = ("=", "<>", ">=", "<=", ">", "<")
# Optional parameters that come before required ones (the docs leave them empty: `Switch([x], , "a", "b")`).
_OPTIONAL_INSIDE = {"FormatDateTime": (1,), "Switch": (1,)}
_NAMED_CONSTANTS = ("vbTextCompare", "vbBinaryCompare")


def _param_key(function, position):
    keys, _required, repeating = FUNCTIONS[function]
    if position < len(keys):
        return keys[position]
    prefix, start = repeating
    if function == "Switch":
        pair, offset = divmod(position - start, 2)
        return ("key%d" if offset == 0 else "value%d") % (pair + 1)
    return "%s%d" % (prefix, position - start + 1)


def _param_position(function, key):
    """The argument position of a parameter key of `function`; None when the key is not one of its keys."""
    if function in COMPARISONS:
        return {"left": 0, "right": 1}.get(key)
    keys, _required, repeating = FUNCTIONS[function]
    if key in keys:
        return keys.index(key)
    if repeating is None:
        return None
    match = re.match(r"^([A-Za-z]+)(\d+)$", key)
    if not match or int(match.group(2)) < 1:
        return None
    number = int(match.group(2)) - 1
    if function == "Switch":
        if match.group(1) not in ("key", "value"):
            return None
        return repeating[1] + 2 * number + (1 if match.group(1) == "value" else 0)
    if match.group(1) != repeating[0]:
        return None
    return repeating[1] + number


# ---- parsing -------------------------------------------------------------------------------------------------

_TOKENS = re.compile(r"""
    (?P<space>\s+)
  | (?P<attribute>\[[^\[\]]*\])
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>&H[0-9A-Fa-f]+|-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<operator><>|>=|<=|=|>|<)
  | (?P<punct>[(),])
""", re.VERBOSE)


def _tokenize(text):
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKENS.match(text, position)
        if not match:
            if text[position] == '"':
                raise ExpressionError("Syntax error at position %d: the string constant is not closed." % position)
            raise ExpressionError("Syntax error at position %d: unexpected character '%s'."
                                  % (position, text[position]))
        kind = match.lastgroup
        if kind != "space":
            tokens.append((kind, match.group(kind), position))
        position = match.end()
    return tokens


def _unescape(quoted):
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def _quote(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def attribute_source(name):
    """The attributeMappingSource of a plain attribute."""
    return {"expression": "[%s]" % name, "name": name, "parameters": [], "type": "Attribute"}


def constant_source(value, expression=None):
    """The attributeMappingSource of a constant."""
    return {"expression": expression if expression is not None else _quote(value), "name": value,
            "parameters": [], "type": "Constant"}


def function_source(name, arguments):
    """The attributeMappingSource of a function call; `arguments` holds a source or None (empty) per position."""
    parameters = []
    rendered = []
    for position, argument in enumerate(arguments):
        if argument is None:
            rendered.append("")
            continue
        key = {0: "left", 1: "right"}[position] if name in COMPARISONS else _param_key(name, position)
        parameters.append({"key": key, "value": argument})
        rendered.append(argument["expression"])
    if name in COMPARISONS:
        expression = "%s %s %s" % (rendered[0], name, rendered[1])
    else:
        expression = "%s(%s)" % (name, ", ".join(rendered))
    return {"expression": expression, "name": name, "parameters": parameters, "type": "Function"}


def parse(text):
    """Parse an expression into an attributeMappingSource; raises ExpressionError with the reason."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("The expression is empty.")
    tokens = _tokenize(text)
    stream = {"index": 0}

    def peek():
        return tokens[stream["index"]] if stream["index"] < len(tokens) else (None, None, len(text))

    def take():
        token = peek()
        stream["index"] += 1
        return token

    def operand(nested):
        kind, value, position = take()
        if kind == "attribute":
            name = value[1:-1].strip()
            if not name:
                raise ExpressionError("Syntax error at position %d: an attribute name is empty." % position)
            return attribute_source(name)
        if kind == "string":
            return constant_source(_unescape(value))
        if kind == "number":
            return constant_source(value, expression=value)
        if kind == "name":
            if peek()[1] != "(":
                if value in _NAMED_CONSTANTS:
                    return constant_source(value, expression=value)
                raise ExpressionError("Syntax error at position %d: '%s' is neither a function call, an attribute"
                                      " in [brackets] nor a string in \"quotes\"." % (position, value))
            if value not in FUNCTIONS:
                raise ExpressionError("Unknown function '%s' at position %d (function names are case-sensitive)."
                                      % (value, position))
            if value == "SelectUniqueValue" and nested:
                raise ExpressionError("SelectUniqueValue must be the outermost function; it cannot be nested.")
            take()
            arguments = []
            if peek()[1] == ")":
                take()
            else:
                while True:
                    if peek()[1] in (",", ")"):
                        arguments.append(None)
                    else:
                        arguments.append(comparison(True))
                    kind, separator, where = take()
                    if separator == ")":
                        break
                    if separator != ",":
                        raise ExpressionError("Syntax error at position %d: expected ',' or ')' in the arguments of"
                                              " %s." % (where, value))
            given = list(arguments)
            while given and given[-1] is None:
                given.pop()
            _check_arity(value, given)
            return function_source(value, arguments)
        if kind is None:
            raise ExpressionError("Syntax error: the expression ends too early.")
        raise ExpressionError("Syntax error at position %d: unexpected '%s'." % (position, value))

    def comparison(nested):
        left = operand(nested)
        if peek()[0] == "operator":
            _kind, operator, _position = take()
            right = operand(True)
            return function_source(operator, [left, right])
        return left

    result = comparison(False)
    kind, value, position = peek()
    if kind is not None:
        raise ExpressionError("Syntax error at position %d: unexpected '%s' after the end of the expression."
                              % (position, value))
    return result


def _check_arity(name, arguments):
    keys, required, repeating = FUNCTIONS[name]
    count = len(arguments)
    given = sum(1 for argument in arguments if argument is not None)
    if name == "Replace":
        if arguments[0] is None:
            raise ExpressionError("Replace needs a source.")
        return
    if count < required or given < min(required, 1):
        raise ExpressionError("%s takes at least %d argument(s); %d given." % (name, required, count))
    if repeating is None and count > len(keys):
        raise ExpressionError("%s takes at most %d argument(s); %d given." % (name, len(keys), count))
    if name == "Switch" and count % 2:
        raise ExpressionError("Switch takes a source, a default value and key/value pairs: an even number of"
                              " arguments; %d given." % count)
    for position in range(min(required, count)):
        if arguments[position] is None and position not in _OPTIONAL_INSIDE.get(name, ()):
            raise ExpressionError("The argument '%s' of %s is required." % (_param_key(name, position), name))


# ---- stored sources ------------------------------------------------------------------------------------------

SOURCE_TYPES = ("Attribute", "Constant", "Function")


def normalize_source(source, where="source"):
    """Check an attributeMappingSource given in a schema and return it in the service's form.

    A source with an expression is re-parsed from it (so its parameters follow the expression); one without is
    checked as a structure and gets its expression written. Raises ExpressionError naming `where`.
    """
    if not isinstance(source, dict):
        raise ExpressionError("%s must be an attributeMappingSource object." % where)
    for key in source:
        if key not in ("expression", "name", "parameters", "type") and not key.startswith("@odata."):
            raise ExpressionError("%s: the property '%s' does not exist on type"
                                  " 'microsoft.graph.attributeMappingSource'." % (where, key))
    expression = source.get("expression")
    if isinstance(expression, str) and expression.strip():
        try:
            return parse(expression)
        except ExpressionError as error:
            raise ExpressionError("%s.expression: %s" % (where, error)) from None
    kind = source.get("type")
    name = source.get("name")
    if kind not in SOURCE_TYPES:
        raise ExpressionError("%s.type: '%s' is not one of %s." % (where, kind, ", ".join(SOURCE_TYPES)))
    if not isinstance(name, str):
        raise ExpressionError("%s.name must be a string." % where)
    if kind == "Attribute":
        return attribute_source(name)
    if kind == "Constant":
        return constant_source(name)
    if name not in FUNCTIONS and name not in COMPARISONS:
        raise ExpressionError("%s.name: unknown function '%s'." % (where, name))
    parameters = source.get("parameters") or []
    if not isinstance(parameters, list):
        raise ExpressionError("%s.parameters must be an array." % where)
    positioned = {}
    for index, pair in enumerate(parameters):
        if not isinstance(pair, dict) or not isinstance(pair.get("key"), str):
            raise ExpressionError("%s.parameters[%d] must be an object with a key and a value." % (where, index))
        position = _param_position(name, pair["key"])
        if position is None or position in positioned:
            raise ExpressionError("%s.parameters[%d].key: '%s' is not a parameter of %s (or is given twice)."
                                  % (where, index, pair["key"], name))
        positioned[position] = normalize_source(pair.get("value"), "%s.parameters[%d].value" % (where, index))
    arguments = [positioned.get(position) for position in range(max(positioned, default=-1) + 1)]
    if name not in COMPARISONS:
        _check_arity(name, arguments)
    return function_source(name, arguments)


def attributes_used(source):
    """The attribute names a source reads, in order of appearance."""
    if source["type"] == "Attribute":
        return [source["name"]]
    names = []
    for pair in source.get("parameters") or ():
        for name in attributes_used(pair["value"]):
            if name not in names:
                names.append(name)
    return names


# ---- evaluation ----------------------------------------------------------------------------------------------

def _single(values):
    if values is None or not values:
        return None
    return values[0]


def _text(values):
    value = _single(values)
    return "" if value is None else value


def _integer(values, what):
    value = _text(values).strip()
    try:
        return int(value[2:], 16) if value.upper().startswith("&H") else int(float(value))
    except ValueError:
        raise EvaluationError("%s: '%s' is not a number." % (what, value)) from None


def _boolean(values):
    value = _text(values).strip().lower()
    if value in ("true", "false"):
        return value == "true"
    try:
        return float(value) != 0
    except ValueError:
        return bool(value)


def _bool_text(flag):
    return ["True" if flag else "False"]


def _format_dotnet_general(moment):
    # M/d/yyyy h:mm:ss tt, the form the docs give for CDate, DateAdd and Now (without strftime's platform flags).
    hour = moment.hour % 12 or 12
    return "%d/%d/%d %d:%02d:%02d %s" % (moment.month, moment.day, moment.year, hour, moment.minute,
                                         moment.second, "AM" if moment.hour < 12 else "PM")


def _parse_datetime(text):
    text = text.strip()
    for pattern in ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(text, pattern).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            pass
    match = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?(Z|[+-]\d{2}:\d{2})?$", text)
    if not match:
        raise EvaluationError("'%s' is not a date and time the emulator can read." % text)
    day, clock, zone = match.groups()
    moment = datetime.datetime.fromisoformat("%sT%s" % (day, clock or "00:00:00"))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = zone[1:].split(":")
        moment = moment - sign * datetime.timedelta(hours=int(hours), minutes=int(minutes))
    return moment.replace(tzinfo=datetime.timezone.utc)


_DOTNET_TOKENS = re.compile(r"yyyy|yy|MM|M|dd|d|HH|H|hh|h|mm|m|ss|s|f+|tt|zzz|\\.|'[^']*'|.", re.S)
_DOTNET_PARSE = {"yyyy": r"(?P<year>\d{4})", "yy": r"(?P<year2>\d{2})", "MM": r"(?P<month>\d{2})",
                 "M": r"(?P<month>\d{1,2})", "dd": r"(?P<day>\d{2})", "d": r"(?P<day>\d{1,2})",
                 "HH": r"(?P<hour>\d{2})", "H": r"(?P<hour>\d{1,2})", "hh": r"(?P<hour12>\d{2})",
                 "h": r"(?P<hour12>\d{1,2})", "mm": r"(?P<minute>\d{2})", "m": r"(?P<minute>\d{1,2})",
                 "ss": r"(?P<second>\d{2})", "s": r"(?P<second>\d{1,2})", "tt": r"(?P<ampm>AM|PM)",
                 "zzz": r"(?P<zone>[+-]\d{2}:\d{2})"}


def _dotnet_parse(text, pattern):
    regex = ""
    for token in _DOTNET_TOKENS.findall(pattern):
        if token in _DOTNET_PARSE:
            regex += _DOTNET_PARSE[token]
        elif token.startswith("f"):
            regex += r"\d{%d}" % len(token)
        elif token.startswith("'"):
            regex += re.escape(token[1:-1])
        else:
            regex += re.escape(token[-1])
    match = re.fullmatch(regex, text.strip())
    if not match:
        raise EvaluationError("'%s' does not have the input format '%s'." % (text, pattern))
    parts = match.groupdict()
    hour = int(parts.get("hour") or 0)
    if parts.get("hour12"):
        hour = int(parts["hour12"]) % 12 + (12 if parts.get("ampm") == "PM" else 0)
    year = int(parts["year"]) if parts.get("year") else 2000 + int(parts.get("year2") or 0)
    return datetime.datetime(year, int(parts.get("month") or 1), int(parts.get("day") or 1), hour,
                             int(parts.get("minute") or 0), int(parts.get("second") or 0))


def _dotnet_format(moment, pattern):
    out = []
    values = {"yyyy": "%04d" % moment.year, "yy": "%02d" % (moment.year % 100), "MM": "%02d" % moment.month,
              "M": str(moment.month), "dd": "%02d" % moment.day, "d": str(moment.day), "HH": "%02d" % moment.hour,
              "H": str(moment.hour), "hh": "%02d" % (moment.hour % 12 or 12), "h": str(moment.hour % 12 or 12),
              "mm": "%02d" % moment.minute, "m": str(moment.minute), "ss": "%02d" % moment.second,
              "s": str(moment.second), "tt": "AM" if moment.hour < 12 else "PM", "zzz": "+00:00"}
    for token in _DOTNET_TOKENS.findall(pattern):
        if token in values:
            out.append(values[token])
        elif token.startswith("f"):
            out.append("0" * len(token))
        elif token.startswith("'"):
            out.append(token[1:-1])
        else:
            out.append(token[-1])
    return "".join(out)


_DIACRITIC_SPECIALS = {"æ": "ae", "Æ": "AE", "ǣ": "ae", "Ǣ": "AE", "ø": "oe", "Ø": "OE", "œ": "oe", "Œ": "OE",
                       "ß": "ss", "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D"}


def normalize_diacritics(text):
    """Replace diacritical characters with their plain equivalents (the docs' table, by Unicode decomposition)."""
    text = "".join(_DIACRITIC_SPECIALS.get(character, character) for character in text)
    return "".join(character for character in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(character))


def _dotnet_regex(pattern):
    return re.sub(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", pattern)


def _dotnet_replacement(replacement):
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", r"\\g<\1>", replacement.replace("\\", "\\\\"))


def _interval(text):
    return {"yyyy": "years", "m": "months", "d": "days", "ww": "weeks", "h": "hours", "n": "minutes",
            "s": "seconds"}.get(text)


class Evaluator:
    """Evaluates attributeMappingSource trees against one object's attributes ({name: str or [str] or None})."""

    def __init__(self, attributes, now=None):
        self.attributes = attributes
        self.now = now or datetime.datetime.now(datetime.timezone.utc)

    def evaluate(self, source):
        """The values of `source` (a list of strings), or None for null."""
        kind = source["type"]
        if kind == "Constant":
            return [source["name"]]
        if kind == "Attribute":
            value = self.attributes.get(source["name"])
            if value is None:
                return None
            return [str(item) for item in value] if isinstance(value, list) else [str(value)]
        name = source["name"]
        arguments = {}
        for pair in source.get("parameters") or ():
            arguments[_param_position(name, pair["key"])] = pair["value"]
        count = max(arguments, default=-1) + 1
        if name in COMPARISONS:
            return self._compare(name, arguments)
        return getattr(self, "_fn_" + name)(arguments, count)

    def _arg(self, arguments, position):
        source = arguments.get(position)
        return None if source is None else self.evaluate(source)

    def _compare(self, operator, arguments):
        left, right = _single(self._arg(arguments, 0)), _single(self._arg(arguments, 1))
        if left is None or right is None:
            # Documented limitation: a condition on an empty or null attribute fails.
            return _bool_text(False)
        try:
            left_value, right_value = float(left), float(right)
        except ValueError:
            left_value, right_value = left, right
        outcome = {"=": left_value == right_value, "<>": left_value != right_value,
                   ">": left_value > right_value, ">=": left_value >= right_value,
                   "<": left_value < right_value, "<=": left_value <= right_value}[operator]
        return _bool_text(outcome)

    # ---- the functions (their docs' descriptions, one method each) -----------------------------------------

    def _fn_Append(self, arguments, _count):
        source = self._arg(arguments, 0)
        return None if source is None else [_text(source) + _text(self._arg(arguments, 1))]

    def _fn_AppRoleAssignmentsComplex(self, arguments, _count):
        return self._arg(arguments, 0)

    def _fn_BitAnd(self, arguments, _count):
        first = _integer(self._arg(arguments, 0), "BitAnd value1")
        return [str(first & _integer(self._arg(arguments, 1), "BitAnd value2"))]

    def _fn_CBool(self, arguments, _count):
        return _bool_text(_boolean(self._arg(arguments, 0)))

    def _fn_CDate(self, arguments, _count):
        value = self._arg(arguments, 0)
        return None if value is None else [_format_dotnet_general(_parse_datetime(_text(value)))]

    def _fn_Coalesce(self, arguments, count):
        for position in range(count):
            value = self._arg(arguments, position)
            if value is not None and _single(value) is not None:
                return value
        return None

    def _fn_ConvertToBase64(self, arguments, _count):
        return [base64.b64encode(_text(self._arg(arguments, 0)).encode("utf-16-le")).decode("ascii")]

    def _fn_ConvertToUTF8Hex(self, arguments, _count):
        return [_text(self._arg(arguments, 0)).encode("utf-8").hex().upper()]

    def _fn_Count(self, arguments, _count):
        return [str(len(self._arg(arguments, 0) or []))]

    def _fn_CStr(self, arguments, _count):
        return self._arg(arguments, 0)

    def _date_arithmetic(self, interval, moment, amount):
        unit = _interval(interval)
        if unit is None:
            raise EvaluationError("'%s' is not an interval (yyyy, m, d, ww, h, n or s)." % interval)
        if unit in ("years", "months"):
            months = moment.month - 1 + amount * (12 if unit == "years" else 1)
            year, month = moment.year + months // 12, months % 12 + 1
            # .NET's AddMonths keeps the day where it can and takes the month's last day otherwise.
            return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
        return moment + datetime.timedelta(**{unit: amount})

    def _fn_DateAdd(self, arguments, _count):
        moment = _parse_datetime(_text(self._arg(arguments, 2)))
        amount = _integer(self._arg(arguments, 1), "DateAdd value")
        return [_format_dotnet_general(self._date_arithmetic(_text(self._arg(arguments, 0)), moment, amount))]

    def _fn_DateDiff(self, arguments, _count):
        unit = _interval(_text(self._arg(arguments, 0)))
        first = _parse_datetime(_text(self._arg(arguments, 1)))
        second = _parse_datetime(_text(self._arg(arguments, 2)))
        if unit is None:
            raise EvaluationError("'%s' is not an interval." % _text(self._arg(arguments, 0)))
        if unit in ("years", "months"):
            months = (second.year - first.year) * 12 + second.month - first.month
            return [str(int(months / 12) if unit == "years" else months)]
        seconds = (second - first).total_seconds()
        size = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}[unit]
        return [str(int(seconds / size))]

    def _fn_DateFromNum(self, arguments, _count):
        ticks = _integer(self._arg(arguments, 0), "DateFromNum value")
        moment = datetime.datetime(1601, 1, 1) + datetime.timedelta(microseconds=ticks // 10)
        return [_format_dotnet_general(moment)]

    def _fn_FormatDateTime(self, arguments, _count):
        source = self._arg(arguments, 0)
        if source is None:
            return None
        moment = _dotnet_parse(_text(source), _text(self._arg(arguments, 2)))
        return [_dotnet_format(moment, _text(self._arg(arguments, 3)))]

    def _fn_Guid(self, _arguments, _count):
        return [str(uuid.uuid4())]

    def _fn_IgnoreFlowIfNullOrEmpty(self, arguments, _count):
        value = self._arg(arguments, 0)
        return [] if value is None or _text(value) == "" else value

    def _fn_IIF(self, arguments, _count):
        return self._arg(arguments, 1 if _boolean(self._arg(arguments, 0)) else 2)

    def _fn_InStr(self, arguments, _count):
        haystack, needle = _text(self._arg(arguments, 0)), _text(self._arg(arguments, 1))
        start = _integer(self._arg(arguments, 2), "InStr start") if arguments.get(2) else 1
        if _text(self._arg(arguments, 3)) == "vbTextCompare":
            haystack, needle = haystack.lower(), needle.lower()
        return [str(haystack.find(needle, max(start, 1) - 1) + 1)]

    def _fn_IsNull(self, arguments, _count):
        return _bool_text(_single(self._arg(arguments, 0)) is None)

    def _fn_IsNullOrEmpty(self, arguments, _count):
        return _bool_text(_text(self._arg(arguments, 0)) == "")

    def _fn_IsPresent(self, arguments, _count):
        return _bool_text(_text(self._arg(arguments, 0)) != "")

    def _fn_IsString(self, arguments, _count):
        return _bool_text(_single(self._arg(arguments, 0)) is not None)

    def _fn_Item(self, arguments, _count):
        values = self._arg(arguments, 0) or []
        index = _integer(self._arg(arguments, 1), "Item index")
        return [values[index - 1]] if 1 <= index <= len(values) else None

    def _fn_Join(self, arguments, count):
        separator = _text(self._arg(arguments, 0))
        parts = []
        for position in range(1, count):
            parts.extend(value for value in self._arg(arguments, position) or [] if value not in (None, ""))
        return [separator.join(parts)]

    def _fn_Left(self, arguments, _count):
        text, number = _text(self._arg(arguments, 0)), _integer(self._arg(arguments, 1), "Left NumChars")
        return [text if number < 0 else text[:number]]

    def _fn_Mid(self, arguments, _count):
        source = self._arg(arguments, 0)
        if source is None:
            return None
        start = _integer(self._arg(arguments, 1), "Mid start")
        length = _integer(self._arg(arguments, 2), "Mid length")
        return [_text(source)[max(start, 1) - 1:max(start, 1) - 1 + max(length, 0)]]

    def _fn_NormalizeDiacritics(self, arguments, _count):
        source = self._arg(arguments, 0)
        return None if source is None else [normalize_diacritics(value) for value in source]

    def _fn_Not(self, arguments, _count):
        return _bool_text(_text(self._arg(arguments, 0)).strip().lower() != "true")

    def _fn_Now(self, _arguments, _count):
        return [_format_dotnet_general(self.now)]

    def _fn_NumFromDate(self, arguments, _count):
        moment = _parse_datetime(_text(self._arg(arguments, 0))).replace(tzinfo=None)
        delta = moment - datetime.datetime(1601, 1, 1)
        return [str((delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10)]

    def _fn_PCase(self, arguments, _count):
        text = _text(self._arg(arguments, 0))
        separators = self._arg(arguments, 1)
        if separators is None:
            return [re.sub(r"[^\W_]+", lambda match: match.group(0)[0].upper() + match.group(0)[1:].lower(), text)]
        pattern = "[^%s]+" % re.escape(_text(separators))
        return [re.sub(pattern, lambda match: match.group(0)[0].upper() + match.group(0)[1:].lower(), text)]

    def _fn_RandomString(self, arguments, _count):
        length, digits, specials, capitals, lowers = (
            _integer(self._arg(arguments, position), "RandomString") for position in range(5))
        avoid = _text(self._arg(arguments, 5))
        pools = [(string.digits, digits), ("!@#$%^&*?", specials), (string.ascii_uppercase, capitals),
                 (string.ascii_lowercase, lowers)]
        chooser = random.SystemRandom()
        characters = []
        for pool, minimum in pools:
            pool = "".join(character for character in pool if character not in avoid)
            characters.extend(chooser.choice(pool) for _position in range(minimum))
        everything = "".join(character for character in string.ascii_letters + string.digits if character not in avoid)
        characters.extend(chooser.choice(everything) for _position in range(max(length - len(characters), 0)))
        chooser.shuffle(characters)
        return ["".join(characters)]

    def _fn_Redact(self, arguments, _count):
        return self._arg(arguments, 0)

    def _fn_RemoveDuplicates(self, arguments, _count):
        values = self._arg(arguments, 0)
        return None if values is None else list(dict.fromkeys(values))

    def _fn_Replace(self, arguments, _count):
        source = self._arg(arguments, 0)
        old_value = self._arg(arguments, 1)
        pattern = self._arg(arguments, 2)
        group = self._arg(arguments, 3)
        replacement = self._arg(arguments, 4)
        replacement_attribute = self._arg(arguments, 5)
        template = self._arg(arguments, 6)
        if pattern is not None and group is not None and arguments.get(5) is not None:
            if _text(source):
                return source
            match = re.search(_dotnet_regex(_text(pattern)), _text(replacement_attribute))
            return [match.group(_text(group))] if match and match.group(_text(group)) is not None else None
        if source is None:
            return None
        text = _text(source)
        if old_value is not None and template is not None:
            return [_text(template).replace(_text(old_value), text)]
        if old_value is not None:
            return [text.replace(_text(old_value), _text(replacement))] if _text(old_value) else [text]
        if pattern is not None:
            regex = re.compile(_dotnet_regex(_text(pattern)))
            if group is not None:
                name = _text(group)
                return [regex.sub(lambda match: match.group(0).replace(match.group(name) or "", _text(replacement))
                                  if match.group(name) else match.group(0), text)]
            return [regex.sub(_dotnet_replacement(_text(replacement)), text)]
        return [text]

    def _fn_SelectUniqueValue(self, arguments, count):
        # The uniqueness check in the target is not modelled: the first rule that gives a value wins.
        return self._fn_Coalesce(arguments, count)

    def _fn_SingleAppRoleAssignment(self, arguments, _count):
        values = self._arg(arguments, 0)
        return None if not values else [values[0]]

    def _fn_Split(self, arguments, _count):
        source = self._arg(arguments, 0)
        if source is None:
            return None
        delimiter = _text(self._arg(arguments, 1))
        return _text(source).split(delimiter) if delimiter else [_text(source)]

    def _fn_StripSpaces(self, arguments, _count):
        source = self._arg(arguments, 0)
        return None if source is None else [_text(source).replace(" ", "")]

    def _fn_Switch(self, arguments, count):
        # Documented: the comparison is case-sensitive; an empty source matches the key "".
        source = _text(self._arg(arguments, 0))
        for position in range(2, count - 1, 2):
            if _text(self._arg(arguments, position)) == source:
                return self._arg(arguments, position + 1)
        return self._arg(arguments, 1)

    def _fn_ToLower(self, arguments, _count):
        source = self._arg(arguments, 0)
        return None if source is None else [value.lower() for value in source]

    def _fn_ToUpper(self, arguments, _count):
        source = self._arg(arguments, 0)
        return None if source is None else [value.upper() for value in source]

    def _fn_Trim(self, arguments, _count):
        source = self._arg(arguments, 0)
        return None if source is None else [value.strip() for value in source]

    def _fn_Word(self, arguments, _count):
        text = _text(self._arg(arguments, 0))
        number = _integer(self._arg(arguments, 1), "Word WordNumber")
        delimiters = _text(self._arg(arguments, 2))
        words = [word for word in re.split("[%s]" % re.escape(delimiters), text) if word] if delimiters else [text]
        return [words[number - 1]] if 1 <= number <= len(words) else [""]


def evaluate(source, attributes, now=None):
    """Evaluate an attributeMappingSource against {attribute: value}; a list of strings or None (null).

    Raises EvaluationError, also for what the functions' own work refuses (a bad regular expression, a date out of
    range), so a caller answers it instead of failing.
    """
    try:
        return Evaluator(attributes, now).evaluate(source)
    except (re.error, OverflowError) as problem:
        raise EvaluationError(str(problem)) from None
    except ValueError as problem:
        if isinstance(problem, EvaluationError):
            raise
        raise EvaluationError(str(problem)) from None

"""The expression language: the docs' examples parse and evaluate as the docs say; bad ones are refused."""

import datetime

import pytest

from entra_emulator import expressions
from entra_emulator.directory import expand_directory
from entra_emulator.seed import SeedError

JOHN = {"userPrincipalName": "John.Doe@contoso.com", "givenName": "John", "surname": "Doe", "mail": None,
        "preferredLanguage": "EN-US", "extensionAttribute1": "20150123105347.1Z", "country": "USA",
        "department": "Sales", "telephoneNumber": "+91 9998887777", "IsSoftDeleted": "False",
        "proxyAddresses": ["SMTP:john@contoso.com", "smtp:jd@contoso.com", "SMTP:john@contoso.com"],
        "BusinessTitle": "Product Developer", "UserID": "jsmith", "AddressLineData": "545 Tremont Street",
        "mobile": "+1 (999) 888-7777", "firstName": "PABLO GONSALVES (SECOND)", "lastName": "PINTO-DE'SILVA"}


# (expression, expected values): each from the docs page "Reference for writing expressions for attribute
# mappings in Microsoft Entra ID", with its sample input.
@pytest.mark.parametrize("expression, expected", [
    ('Append([userPrincipalName], ".test")', ["John.Doe@contoso.com.test"]),
    ("BitAnd(&HF, &HF7)", ["7"]),
    ('CBool([country] = "USA")', ["True"]),
    ('CDate("2021-06-30+08:00")', ["6/29/2021 4:00:00 PM"]),
    ('CDate("2009-06-15T01:45:30-07:00")', ["6/15/2009 8:45:30 AM"]),
    ("Coalesce([mail],[userPrincipalName])", ["John.Doe@contoso.com"]),
    ('ConvertToBase64("Hello world!")', ["SABlAGwAbABvACAAdwBvAHIAbABkACEA"]),
    ('ConvertToUTF8Hex("Hello world!")', ["48656C6C6F20776F726C6421"]),
    ("Count([proxyAddresses])", ["3"]),
    ('DateAdd("d", 7, CDate("2012-03-16-07:00"))', ["3/23/2012 7:00:00 AM"]),
    ('DateAdd("m", 10, CDate("2012-03-16-07:00"))', ["1/16/2013 7:00:00 AM"]),
    ('DateDiff("d", CDate("2021-08-18+08:00"), CDate("2021-08-31+08:00"))', ["13"]),
    ('DateDiff("h", "2021-08-24", "2021-08-25")', ["24"]),
    ("DateFromNum(129699324000000000)", ["1/1/2012 11:00:00 PM"]),
    ('FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")', ["2015-01-23"]),
    ('IIF([country]="USA",[country],[department])', ["USA"]),
    ('IIF([country]="USA",IIF([department]="HR","True","False"),"False")', ["False"]),
    ('InStr("The quick brown fox","quick")', ["5"]),
    ('InStr("repEated","e",3,vbBinaryCompare)', ["7"]),
    ("IsNull([mail])", ["True"]),
    ("IsPresent([givenName])", ["True"]),
    ("Item([proxyAddresses], 1)", ["SMTP:john@contoso.com"]),
    ('Join(", ", "", [surname], [givenName])', ["Doe, John"]),
    ('Left("John Doe", 3)', ["Joh"]),
    ("Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))", ["JohDoe"]),
    ('NormalizeDiacritics("Zoë")', ["Zoe"]),
    ('NormalizeDiacritics("Ærøskøbing Straße")', ["AEroeskoebing Strasse"]),
    ('Not("True")', ["False"]),
    ('NumFromDate("2012-01-01T23:00:00Z")', ["129699324000000000"]),
    ("PCase([firstName])", ["Pablo Gonsalves (Second)"]),
    ('PCase([lastName]," \'-")', ["Pinto-De'Silva"]),
    ("RemoveDuplicates([proxyAddresses])", ["SMTP:john@contoso.com", "smtp:jd@contoso.com"]),
    ('Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )', ["Software Engineer"]),
    ('Replace([UserID],"<username>", , , , , "<username>@contoso.com")', ["jsmith@contoso.com"]),
    ('Replace([telephoneNumber], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>\\\\d{10})", , "${phoneNumber}", , )',
     ["9998887777"]),
    # The docs print 19998887777, but their pattern keeps the "+": the pattern decides.
    ('Replace([mobile], , "[()\\\\s-]+", , "", , )', ["+19998887777"]),
    ('Replace([AddressLineData], ,"(?<streetNumber>^\\\\d*)","streetNumber", "888", , )', ["888 Tremont Street"]),
    ('Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )', ["John.Doe"]),
    ('Replace([mail], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>\\\\d{10})", "phoneNumber" , , [telephoneNumber], )',
     ["9998887777"]),
    ('Replace([preferredLanguage], "-", , , "_", ,  )', ["EN_US"]),
    ('Split("PermissionSetOne,PermissionSetTwo", ",")', ["PermissionSetOne", "PermissionSetTwo"]),
    ('StripSpaces("a b  c")', ["abc"]),
    ('Switch([IsSoftDeleted], , "False", "True", "True", "False")', ["True"]),
    ('Switch([country], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane")',
     ["Australia/Sydney"]),
    ('ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [givenName], [surname]))), "contoso.com"))',
     ["john.doe@contoso.com"]),
    ('Word("The quick brown fox",3," ")', ["brown"]),
    ('Word("This,string!has&many separators",3,",!&#")', ["has"]),
    ("IgnoreFlowIfNullOrEmpty([mail])", []),
])
def test_documented_examples_evaluate_as_documented(expression, expected):
    source = expressions.parse(expression)
    assert expressions.evaluate(source, JOHN) == expected


def test_now_uses_the_documented_format():
    moment = datetime.datetime(2021, 7, 2, 15, 33, 38, tzinfo=datetime.timezone.utc)
    assert expressions.evaluate(expressions.parse("Now()"), {}, now=moment) == ["7/2/2021 3:33:38 PM"]


def test_parsed_form_is_an_attribute_mapping_source_with_named_parameters():
    source = expressions.parse('Switch([IsSoftDeleted], , "False", "True", "True", "False")')
    assert source["type"] == "Function" and source["name"] == "Switch"
    assert [(pair["key"], pair["value"]["type"], pair["value"]["name"]) for pair in source["parameters"]] == [
        ("source", "Attribute", "IsSoftDeleted"), ("key1", "Constant", "False"), ("value1", "Constant", "True"),
        ("key2", "Constant", "True"), ("value2", "Constant", "False")]


def test_escaped_quotes_and_backslashes_round_trip():
    source = expressions.parse('Append("Company name: \\"Contoso\\"", "\\\\")')
    assert source["parameters"][0]["value"]["name"] == 'Company name: "Contoso"'
    assert expressions.parse(source["expression"]) == source
    assert expressions.evaluate(source, {}) == ['Company name: "Contoso"\\']


def test_a_structure_without_expression_is_normalized_to_the_parsed_form():
    structure = {"type": "Function", "name": "Join", "parameters": [
        {"key": "separator", "value": {"type": "Constant", "name": " "}},
        {"key": "source1", "value": {"type": "Attribute", "name": "givenName"}},
        {"key": "source2", "value": {"type": "Attribute", "name": "surname"}}]}
    assert expressions.normalize_source(structure) == expressions.parse('Join(" ", [givenName], [surname])')


@pytest.mark.parametrize("expression, reason", [
    ("", "empty"),
    ('Join(" ", [givenName]', "expected ',' or ')'"),
    ("toLower([mail])", "Unknown function 'toLower'"),
    ("[mail] [surname]", "after the end of the expression"),
    ('Switch([a], , "x")', "Switch takes at least 4"),
    ('Switch([a], "d", "k1", "v1", "k2")', "even number of arguments"),
    ("Mid([a], 1)", "Mid takes at least 3"),
    ('Append([a], "b", "c")', "Append takes at most 2"),
    ('"open', "not closed"),
    ("mail", "neither a function call"),
    ('Join(" ", SelectUniqueValue([a], [b]))', "cannot be nested"),
    ("Append(, \"x\")", "The argument 'source' of Append is required"),
])
def test_invalid_expressions_are_refused_with_a_reason(expression, reason):
    with pytest.raises(expressions.ExpressionError, match=None) as caught:
        expressions.parse(expression)
    assert reason in str(caught.value)


@pytest.mark.parametrize("expression", [
    "Left([a], [b])",
    'Replace([a], , "(unclosed", , "x", , )',
    "DateFromNum(999999999999999999999)",
    'CDate("yesterday")',
])
def test_what_a_function_cannot_work_with_is_an_evaluation_error(expression):
    with pytest.raises(expressions.EvaluationError):
        expressions.evaluate(expressions.parse(expression), {"a": "text", "b": "many"})


def test_adding_months_keeps_the_day_where_the_month_has_it():
    assert expressions.evaluate(expressions.parse('DateAdd("m", 1, "2021-01-31")'), {}) == ["2/28/2021 12:00:00 AM"]


def test_seeded_directory_resolves_members_and_refuses_strangers():
    tenant = {"id": "12345678-1234-4234-8234-123456789abc", "domain": "fabrikam.example"}
    directory = expand_directory({"users": [{"userPrincipalName": "Ann@fabrikam.example", "accountEnabled": False,
                                             "proxyAddresses": ["SMTP:ann@fabrikam.example"]}],
                                  "groups": [{"displayName": "Crew", "members": ["ann@fabrikam.example"]}]},
                                 tenant, "directory")
    [(user_id, user)] = list(directory["users"].items())
    assert user["accountEnabled"] == "False" and user["IsSoftDeleted"] == "False"
    assert user["proxyAddresses"] == ["SMTP:ann@fabrikam.example"]
    assert list(directory["groups"].values())[0]["members"] == [user_id]
    with pytest.raises(SeedError, match="no user of the directory"):
        expand_directory({"users": [], "groups": [{"displayName": "Crew", "members": ["bob@x"]}]}, tenant, "d")
    defaults = expand_directory(None, tenant, "directory")
    assert len(defaults["users"]) == 5 and len(defaults["groups"]) == 2
    assert all(user["userPrincipalName"].endswith("@fabrikam.example") for user in defaults["users"].values())

"""Administrators configure tags and see the registry's structure here; ID and phone numbers are
never shown in the admin (the registry pages reveal them with a reason, logged)."""

from django.contrib import admin

from wangge.audit.admin import ReadOnlyAdmin
from wangge.people.models import Household, PartyMember, PartyOrg, Resident, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "sensitive"]


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ["address", "door", "cell"]
    search_fields = ["address", "door", "cell__code"]


@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdmin):
    list_display = ["name", "household", "birth_date"]
    search_fields = ["name"]
    list_filter = ["tags"]
    exclude = ["id_number", "id_number_index", "phone", "phone_index"]


@admin.register(PartyOrg)
class PartyOrgAdmin(ReadOnlyAdmin):
    list_display = ["name", "level", "cell"]


@admin.register(PartyMember)
class PartyMemberAdmin(ReadOnlyAdmin):
    list_display = ["name", "org", "is_central_household"]
    exclude = ["phone"]

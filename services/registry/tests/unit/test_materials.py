from types import SimpleNamespace

from registry.domain.catalogue import LandUse, Permit
from registry.domain.materials import needs_site_statement, permits_for, reminder_schedule, required_materials


def test_checklist_follows_permits_and_graduate_status() -> None:
    base = {m.code for m in required_materials(permits=[], is_graduate=False)}
    assert base == {"founder_id_copy", "articles_of_association", "address_proof"}
    full = {m.code for m in required_materials(permits=[Permit.RADIO_TV_PRODUCTION, Permit.ICP_FILING], is_graduate=True)}
    assert full - base == {
        "graduation_certificate",
        "radio_tv_application",
        "content_staff_list",
        "icp_domain_certificate",
        "icp_responsible_person",
    }


def test_site_statement_is_needed_outside_office_land() -> None:
    assert not needs_site_statement(LandUse.OFFICE) and not needs_site_statement("commercial")
    assert all(needs_site_statement(u) for u in ("education", "warehousing", "industrial", "residential"))


def test_permits_come_from_lines_and_requests() -> None:
    drama = SimpleNamespace(permits=["radio_tv_production"])
    music = SimpleNamespace(permits=[])
    assert permits_for([drama, music], []) == [Permit.RADIO_TV_PRODUCTION]
    assert permits_for([music], ["icp_filing"]) == [Permit.ICP_FILING]


def test_reminders_after_one_three_and_five_days() -> None:
    from datetime import date

    assert reminder_schedule(date(2026, 9, 28)) == [date(2026, 9, 29), date(2026, 10, 1), date(2026, 10, 3)]

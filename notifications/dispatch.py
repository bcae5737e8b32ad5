"""From an announcement to messages (worker side): which rules want it, one message per channel,
or a line in a rule's open digest; the deliveries then go out through ``notifications.tasks``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import notable, patterns
from notifications import messages, topics
from notifications.models import Channel, Delivery, Digest, Rule

logger = logging.getLogger(__name__)

Send = Callable[[Delivery], None]


def wanted_kinds() -> set[str]:
    """The announcement kinds some enabled rule may want (the web side asks before sending a task)."""
    wanted: set[str] = set()
    for chosen in Rule.objects.filter(enabled=True, channel__enabled=True).values_list("topics", flat=True):
        for topic in chosen or []:
            wanted |= _KINDS_OF.get(topic, set())
    return wanted


_KINDS_OF: dict[str, set[str]] = {
    "push": {notable.PUSH},
    "delete": {notable.DELETE},
    "registry": {notable.REGISTRY_DOWN, notable.REGISTRY_UP},
    "disk-usage": {notable.DISK_USAGE},
    "events-gap": {notable.EVENTS_GAP},
    "damage-found": {notable.DAMAGE_FOUND, notable.JOB_FINISHED},
    "login-lockout": {notable.LOGIN_LOCKOUT},
    "token-created": {notable.TOKEN_CREATED, notable.ROBOT_CREATED},
    "retention-run": {notable.JOB_FINISHED},
    "gc-finished": {notable.JOB_FINISHED},
    "gc-failed": {notable.JOB_FINISHED},
    "job-failed": {notable.JOB_FINISHED},
}
assert set(_KINDS_OF) == set(topics.TOPICS)


def matches(rule: Rule, topic: str, facts: dict[str, Any]) -> bool:
    """Whether ``rule`` wants this announcement, under ``topic`` (one of the rule's)."""
    if topic in topics.FILTERED:
        repository = str(facts.get("repository") or "")
        if rule.repositories and not any(patterns.glob_matches(glob, repository) for glob in rule.repositories):
            return False
        tag = str(facts.get("tag") or "")
        if rule.tags and not patterns.regex_matches(rule.tags, tag):
            return False
    if topic == "disk-usage":
        return isinstance(facts.get("percent"), int | float)
    return True


def _crossed(rule: Rule, facts: dict[str, Any]) -> bool:
    """Disk usage is told when it rises above the rule's threshold, not at every sample above it;
    falling below again re-arms the rule."""
    above = float(facts["percent"]) >= rule.disk_threshold
    if above == rule.disk_above:
        return False
    Rule.objects.filter(pk=rule.pk).update(disk_above=above)
    return above


def dispatch(kind: str, facts: dict[str, Any], send: Send) -> list[Delivery]:
    """Turn an announcement into deliveries (sent with ``send``) and digest lines; the deliveries made."""
    under = topics.topics_of(kind, facts)
    if not under:
        return []
    message = messages.compose(kind, facts)
    immediate: dict[int, tuple[Rule, str]] = {}  # channel id -> the first rule and topic that want it now
    made = []
    for rule in Rule.objects.filter(enabled=True, channel__enabled=True).select_related("channel"):
        topic = next((t for t in under if t in rule.topics and matches(rule, t, facts)), None)
        if topic is None or (topic == "disk-usage" and not _crossed(rule, facts)):
            continue
        if rule.digest_minutes:
            _gather(rule, topic, message)
        else:
            immediate.setdefault(rule.channel_id, (rule, topic))
    for rule, topic in immediate.values():
        made.append(_deliver(rule.channel, rule, topic, message, facts, send))
    return made


def _deliver(
    channel: Channel, rule: Rule | None, topic: str, message: messages.Message, facts: dict[str, Any], send: Send
) -> Delivery:
    delivery = Delivery.objects.create(
        channel=channel, rule=rule, topic=topic, title=message.title, text=message.text, link=message.link, facts=facts
    )
    transaction.on_commit(lambda: send(delivery))
    return delivery


def _gather(rule: Rule, topic: str, message: messages.Message) -> None:
    """Add a line to the rule's open digest, opening one (due in digest_minutes) when none is."""
    for _ in range(3):
        try:
            with transaction.atomic():
                open_digest = Digest.objects.select_for_update().filter(rule=rule, sent_at__isnull=True).first()
                if open_digest is None:
                    open_digest = Digest.objects.create(
                        rule=rule, due_at=timezone.now() + timedelta(minutes=rule.digest_minutes)
                    )
                open_digest.count += 1
                if len(open_digest.lines) < Digest.MAX_LISTED:
                    open_digest.lines = [*open_digest.lines, message.line]
                if topic not in open_digest.topics:
                    open_digest.topics = [*open_digest.topics, topic]
                open_digest.save(update_fields=["count", "lines", "topics"])
            return
        except IntegrityError:  # another worker opened it at the same moment: add to theirs
            continue


def flush_due(send: Send, now: Any = None) -> list[Delivery]:
    """Close the digests whose time has come, each as one delivery; the deliveries made."""
    now = now or timezone.now()
    made = []
    for due in Digest.objects.filter(sent_at__isnull=True, due_at__lte=now).select_related("rule__channel"):
        with transaction.atomic():
            if not Digest.objects.filter(pk=due.pk, sent_at__isnull=True).update(sent_at=now):
                continue  # another worker closed it
            rule = due.rule
            if not due.count or not (rule.enabled and rule.channel.enabled):
                continue  # switched off since: the gathered lines are dropped
            message = messages.digest(due.count, due.lines, due.topics, rule.name, rule.digest_minutes)
            facts = {"digest": due.pk, "count": due.count, "topics": due.topics, "rule": rule.name}
            topic = due.topics[0] if len(due.topics) == 1 else "digest"
            made.append(_deliver(rule.channel, rule, topic, message, facts, send))
    return made


def test_delivery(channel: Channel, actor: str) -> Delivery:
    """A test message for ``channel`` (its task is sent by the caller)."""
    message = messages.compose("test", {"channel": channel.name, "actor": actor})
    return Delivery.objects.create(
        channel=channel,
        topic="test",
        title=message.title,
        text=message.text,
        link=message.link,
        facts={"channel": channel.name, "actor": actor},
    )


def prune(now: Any = None) -> int:
    """Forget deliveries and closed digests older than NOTIFICATIONS_LOG_DAYS; how many deliveries went."""
    from django.conf import settings

    cutoff = (now or timezone.now()) - timedelta(days=settings.NOTIFICATIONS_LOG_DAYS)
    Digest.objects.filter(sent_at__lt=cutoff).delete()
    return int(Delivery.objects.filter(created_at__lt=cutoff).exclude(status__in=["pending", "retrying"]).delete()[0])
